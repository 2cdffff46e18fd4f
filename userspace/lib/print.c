// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "print.h"

#define VEIL_PRINT_DEPTH 16

static struct {
	bool json;
	bool pretty;
	int depth;
	json_object *stack[VEIL_PRINT_DEPTH];
	json_object *root;
} out;

void veil_print_start(bool json, bool pretty)
{
	out.json = json;
	out.pretty = pretty;
	out.depth = 0;
	out.root = NULL;
}

bool veil_print_is_json(void)
{
	return out.json;
}

static void veil_print_add(const char *key, json_object *obj)
{
	json_object *parent;

	if (!obj) {
		fprintf(stderr, "veil: out of memory while printing JSON\n");
		exit(1);
	}
	if (!out.depth) {
		/* A bare value at top level becomes the document. */
		json_object_put(out.root);
		out.root = obj;
		return;
	}
	parent = out.stack[out.depth - 1];
	if (json_object_is_type(parent, json_type_array))
		json_object_array_add(parent, obj);
	else
		json_object_object_add(parent, key, obj);
}

static void veil_print_push(const char *key, json_object *obj)
{
	if (out.depth == VEIL_PRINT_DEPTH) {
		fprintf(stderr, "veil: JSON output nested too deep\n");
		exit(1);
	}
	veil_print_add(key, obj);
	out.stack[out.depth++] = obj;
}

void veil_print_open_object(const char *key)
{
	if (out.json)
		veil_print_push(key, json_object_new_object());
}

void veil_print_open_array(const char *key)
{
	if (out.json)
		veil_print_push(key, json_object_new_array());
}

void veil_print_close_object(void)
{
	if (out.json && out.depth)
		out.depth--;
}

void veil_print_close_array(void)
{
	veil_print_close_object();
}

void veil_print_string(const char *key, const char *fmt, const char *value)
{
	if (out.json)
		veil_print_add(key, value ? json_object_new_string(value) : json_object_new_null());
	else if (fmt)
		printf(fmt, value ? value : "");
}

void veil_print_uint(const char *key, const char *fmt, uint64_t value)
{
	if (out.json)
		veil_print_add(key, json_object_new_uint64(value));
	else if (fmt)
		printf(fmt, value);
}

void veil_print_bool(const char *key, const char *fmt, bool value)
{
	if (out.json)
		veil_print_add(key, json_object_new_boolean(value));
	else if (fmt)
		printf(fmt, value ? "true" : "false");
}

void veil_print_text(const char *fmt, ...)
{
	va_list ap;

	if (out.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void veil_print_end(void)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if (!out.json || !out.root)
		goto flush;
	flags |= out.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN;
	puts(json_object_to_json_string_ext(out.root, flags));
	json_object_put(out.root);
	out.root = NULL;
	out.depth = 0;
flush:
	fflush(stdout);
}

void veil_print_discard(void)
{
	json_object_put(out.root);
	out.root = NULL;
	out.depth = 0;
	fflush(stdout);
}
