/* The variant registry: variants/variants.inc expanded into a table. */
#include <string.h>

#include "error.h"
#include "isa.h"
#include "variant.h"

#define C1_VARIANT(name, family, dev, prec, isa, ops, ...) extern const c1_variant_ops ops;
#include "variants.inc"
#ifdef C1_TEST_VARIANTS
#include C1_TEST_VARIANTS
#endif
#undef C1_VARIANT

static const c1_variant registry[] = {
#define C1_VARIANT(name, family, dev, prec, isa, ops, ...) \
    {#name, family, C1_DEVICE_##dev, C1_PREC_##prec, C1_ISA_LEVEL_##isa, &ops, {__VA_ARGS__}},
#include "variants.inc"
#ifdef C1_TEST_VARIANTS
#include C1_TEST_VARIANTS
#endif
#undef C1_VARIANT
};

const c1_variant *c1_variant_list(size_t *count)
{
    *count = sizeof registry / sizeof registry[0];
    return registry;
}

const c1_variant *c1_variant_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i].name, name) == 0) return &registry[i];
    return NULL;
}

conv1d_status c1_variant_applies(const c1_variant *v, const conv1d_desc *d)
{
    conv1d_status st = conv1d_desc_validate(d);
    if (st != CONV1D_OK) return st;
    if ((st = c1_isa_check_env()) != CONV1D_OK) return st;
    if (!c1_precision_takes(v->precision, d->dtype))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s is of the %s class, which does not compute %s tensors.",
                       v->name, c1_precision_name(v->precision), conv1d_dtype_name(d->dtype));
    if (!c1_isa_available(v->isa))
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s needs the %s ISA level; this process may use %s%s.", v->name,
                       c1_isa_level_name(v->isa), c1_isa_level_name(c1_isa_effective()),
                       c1_isa_capped() ? " (capped by CONV1D_ISA)" : "");
    if (v->ops->available && !v->ops->available())
        return c1_fail(CONV1D_UNSUPPORTED, "Variant %s is not available on this machine or build.", v->name);
    return v->ops->supports(v, d);
}

const char *c1_device_name(c1_device dev) { return dev == C1_DEVICE_CUDA ? "cuda" : "cpu"; }
