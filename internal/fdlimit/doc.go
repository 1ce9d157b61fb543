// Package fdlimit raises the process's limit of open files (RLIMIT_NOFILE)
// from its soft value to its hard value, where the system allows it.
//
// Every websocket subscriber is one open file for the server and one for
// a load client, so both the server (at start) and `estateflow loadtest`
// raise the limit before opening connections. Raising the soft limit up to
// the hard one needs no privilege; the hard limit itself is the
// operator's (ulimit -Hn, systemd's LimitNOFILE, a container's nofile).
//
// Files: raise_unix.go (Linux, macOS, the BSDs) and raise_other.go
// (elsewhere: the limit is left alone and reported as unsupported).
package fdlimit
