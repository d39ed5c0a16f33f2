/*
 * wirecheck.h — what protobuf-c does not check when it decodes a request.
 *
 * proto3 requires every `string` field to be valid UTF-8, and protobuf-c hands string fields out
 * as NUL-terminated C strings: an embedded NUL silently cuts the value ("<id>\0junk" arrives as
 * "<id>" and names another object; capability "SYS_ADMIN\0junk" arrives as "SYS_ADMIN").  Only
 * the wire bytes tell, so every string field of a request, at any depth (repeated fields and map
 * entries included), is checked here, once, before any handler sees the request.
 */
#ifndef LITECRI_SERVER_WIRECHECK_H
#define LITECRI_SERVER_WIRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Check the string fields of the message of type d packed in buf[0..len).  0 when every one is
 * valid UTF-8 without a NUL byte; -1 otherwise, with the first offending field's path in
 * path[0..cap) — proto field names joined by '.', repeated fields indexed by occurrence
 * ("config.linux.security_context.capabilities.add_capabilities[1]", "labels[0].value") — and
 * *why saying what is wrong ("holds a NUL byte", "is not valid UTF-8", or, for bytes that are
 * not a protobuf message at all or use a field number outside 1..2^29-1, "is not a well-formed
 * message").  Fields d does not know are
 * skipped, as the decoder skips them.
 */
int wirecheck_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, char *path, size_t cap,
		      const char **why);

#endif
