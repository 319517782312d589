/*
 * selection.c — the --family and --select values of capture, import and the tee made into
 * one selection (core's pm_selection), the first bad value named.
 */
#include "cli.h"

int cli_selection(const cli_list *families, const cli_list *selects, pm_selection **out, pm_err *err)
{
    *out = NULL;
    if (!families->n && !selects->n)
        return 0;
    pm_selection *s = pm_selection_new();
    if (!s)
        return pm_err_set(err, "out of memory");
    for (size_t i = 0; i < families->n; i++)
        if (pm_selection_add_family(s, families->items[i], err) != 0)
            goto fail;
    for (size_t i = 0; i < selects->n; i++)
        if (pm_selection_parse(s, selects->items[i], err) != 0)
            goto fail;
    *out = s;
    return 0;
fail:
    pm_selection_free(s);
    return -1;
}
