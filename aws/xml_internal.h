/* Internal to aws/: libxml2 helpers shared by the decoders of the query and
 * ec2 protocols (decode.c and the per-service files). */
#ifndef ENVBOT_AWS_XML_INTERNAL_H
#define ENVBOT_AWS_XML_INTERNAL_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "aws_internal.h"

/* The document, or NULL with a one-line reason in err (empty, too large or
 * malformed). Never fetches external entities nor expands entities. */
xmlDocPtr aws_xml_parse(const char *body, size_t len, char *err, size_t errlen);
/* True when n is an element named name. */
bool aws_xml_is(xmlNodePtr n, const char *name);
/* n's first child element named name; NULL when n is NULL or has none. */
xmlNodePtr aws_xml_child(xmlNodePtr n, const char *name);
/* The text of n in the arena; "" when n is NULL or empty. NULL only when the
 * arena is full. */
const char *aws_xml_text(struct arena *a, xmlNodePtr n);
/* aws_xml_text of n's child named name. */
const char *aws_xml_child_text(struct arena *a, xmlNodePtr n, const char *name);
/* The root if it is named root_name, else NULL with err set. */
xmlNodePtr aws_xml_root(xmlDocPtr doc, const char *root_name, char *err, size_t errlen);

#endif
