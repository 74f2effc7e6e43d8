/* The empty table of tuned winners, used when the library is built without TUNED=file (see tuned.h). */
#include "tuned.h"

const char c1_tuned_fingerprint[] = "";
const char c1_tuned_build_signature[] = "";
/* One placeholder entry because ISO C has no empty arrays; c1_tuned_count says there are none. */
const c1_tuned_entry c1_tuned_table[] = {{"", "", "", ""}};
const size_t c1_tuned_count = 0;
const c1_model c1_tuned_models[] = {{.samples = 0}};
const size_t c1_tuned_model_count = 0;
