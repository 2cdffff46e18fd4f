/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One printing path for people and for scripts. Every field is printed
 * once, with its JSON key and its text format; in JSON mode the text
 * format is ignored, in text mode the key is. So -j never drifts from what
 * a person sees.
 */
#ifndef VEIL_PRINT_H
#define VEIL_PRINT_H

#include <stdbool.h>
#include <stdint.h>

void veil_print_start(bool json, bool pretty);
/* Flush the JSON document (text output is written as it goes). */
void veil_print_end(void);
/* Drop a half-built JSON document after an error. */
void veil_print_discard(void);
bool veil_print_is_json(void);

/* Containers: @key is ignored inside an array and for the outermost one. */
void veil_print_open_object(const char *key);
void veil_print_close_object(void);
void veil_print_open_array(const char *key);
void veil_print_close_array(void);

/* Fields: @fmt is a printf format for the text view; NULL prints nothing there. */
void veil_print_string(const char *key, const char *fmt, const char *value);
void veil_print_uint(const char *key, const char *fmt, uint64_t value);
void veil_print_bool(const char *key, const char *fmt, bool value);

/* Text-only decoration (labels, line breaks); nothing in JSON. */
void veil_print_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VEIL_PRINT_H */
