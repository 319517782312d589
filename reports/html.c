/*
 * html.c — report.html: one self-contained page rendered from the report tree.
 * (First version: a plain page; sections and charts follow.)
 */
#include "reports/reports.h"

int reports_write_html(FILE *out, const json_t *report, pm_err *err)
{
    if (!out || !json_is_object(report))
        return pm_err_set(err, "html: no report to render");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; img-src data:\">"
          "<title>pmirror report</title></head><body><h1>pmirror report</h1></body></html>\n",
          out);
    if (ferror(out))
        return pm_err_set(err, "html: write failed");
    return 0;
}
