// Package logscrub keeps secrets and personal data out of the logs.
//
// [New] wraps any [slog.Handler]. Before a record reaches the wrapped
// handler, its message and every attribute value are searched, and what
// matches is replaced:
//
//   - EstateFlow token secrets ("ef_" and 52 base32 characters, or any
//     "ef_" followed by 20 or more letters and digits, so that truncated
//     secrets go too) and the credential of every "Bearer …" become
//     [TokenMark]. A token's display prefix ("ef_" and 6 characters) is
//     kept.
//   - Email addresses (also with a URL-encoded "%40" and international
//     domain names) become [EmailMark].
//   - Phone numbers become [PhoneMark]: North-American numbers written with
//     separators ("(512) 555-0134", "512-555-0134", "512.555.0134",
//     "1-512-555-0134"), international numbers with a leading plus
//     ("+1 512 555 0134", "+15125550134", "+44 20 7946 0958"), and a bare
//     run of 10 digits (or 11 starting with 1) only where a label says it
//     is a phone ("phone=5125550134", "\"mobile\":\"5125550134\"").
//   - The whole value of an attribute whose key names a secret or a contact
//     detail (authorization, password, secret, token, cookie, api_key,
//     email, phone, mobile and keys ending in those, such as client_email)
//     becomes [Mark], unless it is a boolean, a time, a duration or a
//     group (whose attributes are judged by their own keys).
//
// Bare digit runs are otherwise left alone on purpose: global IDs
// (17179869185, 4294967297), request IDs, Unix times and prices are digit
// runs too, and timestamps, durations, UUIDs, IP addresses, decimals and
// stack-trace offsets have separators that do not fit a phone number.
//
// Attribute values are searched whatever their kind: strings, errors
// (their Error text), fmt.Stringer and encoding.TextMarshaler values, and
// any other value as fmt's %+v prints it (and as its MarshalJSON writes
// it, when it has one); LogValuer values are resolved first, and groups
// are searched recursively. Attributes added with [slog.Handler.WithAttrs]
// are scrubbed once, when they are added. A value in which nothing matches
// reaches the wrapped handler unchanged, with its type; one in which
// something matched is replaced by its scrubbed text.
//
// Not covered: text written around slog (the standard library's log
// package, fmt to stdout or stderr; use [String] there), Basic credentials
// in free text (an "authorization" key is redacted whatever its scheme),
// phone numbers written as bare digits without a label, and obfuscated
// addresses ("ana at example dot com"). Any word after "Bearer" is taken
// for a credential.
//
// A record in which nothing matches costs no allocation beyond what
// formatting an error or a non-string value costs: strings are searched in
// place, and the record is passed on as it came.
package logscrub
