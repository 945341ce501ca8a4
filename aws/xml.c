/* The XML helpers every query- and ec2-protocol decoder of aws/ uses:
 * a parse that never fetches or expands entities, and lookups that
 * tolerate missing elements (NULL in, NULL or "" out). */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "xml_internal.h"

static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

xmlDocPtr aws_xml_parse(const char *body, size_t len, char *err, size_t errlen)
{
	if (!body || len == 0) {
		snprintf(err, errlen, "empty response body");
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(err, errlen, "response body too large");
		return NULL;
	}
	/* Hostile bodies make libxml2 print encoding errors itself, past the
	 * logger; the reason reaches the caller through xmlGetLastError(). */
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	/* NONET: never fetch external entities; no NOENT: entities are not
	 * expanded, so entity bombs stay inert. */
	xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *e = xmlGetLastError();
		snprintf(err, errlen, "malformed XML%s%.120s", e && e->message ? ": " : "",
			 e && e->message ? e->message : "");
		size_t n = strlen(err);
		if (n && err[n - 1] == '\n')
			err[n - 1] = '\0';
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

bool aws_xml_is(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr aws_xml_child(xmlNodePtr n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (aws_xml_is(c, name))
			return c;
	return NULL;
}

/* The text of n in the arena; "" when n is NULL or empty. NULL only when the
 * arena is full. */
const char *aws_xml_text(struct arena *a, xmlNodePtr n)
{
	if (!n)
		return arena_strdup(a, "");
	xmlChar *s = xmlNodeGetContent(n);
	const char *r = arena_strdup(a, (const char *)s);
	xmlFree(s);
	return r;
}

const char *aws_xml_child_text(struct arena *a, xmlNodePtr n, const char *name)
{
	return aws_xml_text(a, aws_xml_child(n, name));
}

/* Returns the root if it is named root_name, else NULL with err set. */
xmlNodePtr aws_xml_root(xmlDocPtr doc, const char *root_name, char *err, size_t errlen)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!aws_xml_is(root, root_name)) {
		snprintf(err, errlen, "unexpected XML root <%.60s>, expected <%s>",
			 root ? (const char *)root->name : "", root_name);
		return NULL;
	}
	return root;
}
