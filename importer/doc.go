// Package importer loads properties from EstateFlow's CSV format (see the
// README) into an organization. It upserts by external reference, so a file
// imported twice changes nothing the second time, and it reports each bad
// row by line number without stopping: a row is written whole or not at all.
package importer
