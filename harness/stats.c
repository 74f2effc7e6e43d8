/* Outcome names (the timing statistics are core/verdict.c). */

#include "measure.h"

const char *c1_outcome_name(c1_outcome o)
{
    switch (o) {
#define C1_OUTCOME_CASE_(name, text) \
    case C1_OUTCOME_##name:          \
        return text;
        C1_OUTCOME_MAP(C1_OUTCOME_CASE_)
#undef C1_OUTCOME_CASE_
    }
    return "unknown";
}
