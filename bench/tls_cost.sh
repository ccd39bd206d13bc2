#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/tls_cost.sh: where a TLS probe's CPU goes, in instructions (not a
# test).  Counts instructions with valgrind's callgrind, which needs no
# hardware counters (this VM has none for perf stat) and does not depend
# on the host's load: the figures are the same on a busy host.
#
# Against one local nginx worker (TLS 1.3, a private ECDSA P-256 CA, no
# session reuse: bench/lib.sh's bl_pki and bl_nginx), it runs
#   1. bench/tls_minloop, the floor, at 10 handshakes/s, collecting only
#      inside its OpenSSL calls (SSL_new ... SSL_free: the handshake);
#   2. sonde with 20 tls checks at 2 s, collecting the same OpenSSL calls;
#   3. sonde again, collecting its whole event loop (loop_run_once):
#      everything a probe costs once the config is loaded.
# Each is divided by its number of SSL_free() calls (one per handshake).
# For the floor it then splits the handshake into the crypto a TLS 1.3
# client cannot avoid (two ECDSA P-256 verifies, one X25519 key share and
# derivation, the HKDF key schedule) and OpenSSL 3.0's own overheads
# (decoder setup in d2i_X509, chain building).
#
# usage: bench/tls_cost.sh [--builddir DIR] [--seconds S]
# Needs valgrind, nginx and openssl; only loopback traffic; every run is
# bounded in time (timeout).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$srcdir/bench/lib.sh"

builddir=build
secs=8
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift ;;
	--seconds) secs=${2:?}; shift ;;
	-h|--help) sed -n '3,24p' "$0"; exit 0 ;;
	*) echo "usage: bench/tls_cost.sh [--builddir DIR] [--seconds S]" >&2
	   exit 2 ;;
	esac
	shift
done
builddir=$(bl_builddir "$builddir" sonde bench/tls_minloop) || exit 1
bl_need valgrind valgrind
bl_need callgrind_annotate valgrind
bl_need nginx nginx
bl_need openssl openssl

bl_init bench-tlscost
T=$BL_TMP
bl_pki "$T"
NG_HTTP=$(bl_free_port); NG_TLS=$(bl_free_port)
bl_nginx "$T" "$NG_HTTP" "$NG_TLS"

ssl_toggles=()
for f in SSL_new SSL_set_fd SSL_ctrl SSL_set1_host SSL_do_handshake \
    SSL_get_verify_result SSL_shutdown SSL_free ERR_clear_error; do
	ssl_toggles+=("--toggle-collect=$f")
done

# incl OUT FUNCTION: the inclusive instructions of FUNCTION (0 if none).
incl() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
	    awk -v f=":$2 " 'index($0, f) { gsub(/,/, "", $1); print $1; exit }
	    END { }' | { read -r v || true; echo "${v:-0}"; }
}

# calls OUT FUNCTION: how many times FUNCTION was called.
calls() {
	callgrind_annotate --tree=caller --inclusive=yes --threshold=100 \
	    "$1" 2>/dev/null | awk -v f=":$2 " '
	    /^ *[0-9,]+ .*< / && !done { if (match($0, /\([0-9,]+x\)/)) {
		s = substr($0, RSTART + 1, RLENGTH - 3); gsub(/,/, "", s)
		pend += s } next }
	    /\*  / { if (index($0, f)) { n = pend; done = 1 } pend = 0; next }
	    { pend = 0 }
	    END { print n + 0 }'
}

total() {
	callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {
	    gsub(/,/, "", $1); print $1; exit }'
}

bl_say "tls_minloop under callgrind, 10 handshakes/s for ${secs}s"
timeout $((secs * 10 + 60)) valgrind --tool=callgrind \
    --callgrind-out-file="$T/min.cg" "${ssl_toggles[@]}" \
    "$builddir/bench/tls_minloop" 127.0.0.1 "$NG_TLS" bench.example \
    "$T/ca.pem" 10 "$secs" >"$T/min.out" 2>"$T/min.err" ||
    bl_die "tls_minloop under callgrind failed: $(tail -2 "$T/min.err")"

mkdir -p "$T/sonde/state"
{
	printf 'agent: { name = "cost"; state_dir = "%s/sonde/state"; };\n' "$T"
	printf 'defaults: { interval = "2s"; timeout = "2s"; };\nchecks = (\n'
	awk -v p="$NG_TLS" -v ca="$T/ca.pem" 'BEGIN { for (i = 1; i <= 20; i++)
	    printf "  { name = \"t%05d\"; type = \"tls\"; host = \"127.0.0.1\"; port = %d; server_name = \"bench.example\"; ca_file = \"%s\"; }%s\n", i, p, ca, i == 20 ? "" : "," }'
	printf ');\n'
} >"$T/sonde/sonde.conf"
"$builddir/sonde" -t -c "$T/sonde/sonde.conf" >/dev/null ||
    bl_die "sonde -t rejected the generated config"
for mode in ssl loop; do
	bl_say "sonde under callgrind ($mode), 20 tls checks at 2s, $((secs + 4))s"
	if [ "$mode" = ssl ]; then tg=("${ssl_toggles[@]}")
	else tg=(--collect-atstart=no --toggle-collect=loop_run_once); fi
	timeout -s TERM $((secs + 4)) valgrind --tool=callgrind \
	    --callgrind-out-file="$T/sonde-$mode.cg" "${tg[@]}" \
	    "$builddir/sonde" -c "$T/sonde/sonde.conf" \
	    >"$T/sonde-$mode.log" 2>&1 || true
	[ -s "$T/sonde-$mode.cg" ] || bl_die "no callgrind output for sonde"
done

hs_min=$(calls "$T/min.cg" SSL_free)
hs_ssl=$(calls "$T/sonde-ssl.cg" SSL_free)
hs_loop=$(calls "$T/sonde-loop.cg" SSL_free)
[ "$hs_min" -gt 0 ] && [ "$hs_ssl" -gt 0 ] && [ "$hs_loop" -gt 0 ] ||
    bl_die "no handshakes counted ($hs_min, $hs_ssl, $hs_loop)"
m=$T/min.cg
awk -v hm="$hs_min" -v hs="$hs_ssl" -v hl="$hs_loop" \
    -v tm="$(total "$m")" -v ts="$(total "$T/sonde-ssl.cg")" \
    -v tl="$(total "$T/sonde-loop.cg")" \
    -v ecdsa="$(incl "$m" ECDSA_do_verify)" \
    -v kg="$(incl "$m" EVP_PKEY_keygen)" -v dv="$(incl "$m" EVP_PKEY_derive)" \
    -v kdf="$(incl "$m" EVP_KDF_derive)" -v d2i="$(incl "$m" d2i_X509)" \
    -v dec="$(incl "$m" OSSL_DECODER_CTX_new_for_pkey)" \
    -v vc="$(incl "$m" X509_verify_cert)" -v xv="$(incl "$m" X509_verify)" \
    -v new="$(incl "$m" SSL_new)" -v fr="$(incl "$m" SSL_free)" \
    -v sd="$(incl "$m" SSL_shutdown)" -v osv="$(openssl version)" 'BEGIN {
	k = 1000 * hm
	printf "## TLS handshake cost in instructions (callgrind)\n\n"
	printf "%s; nginx TLS 1.3, ECDSA P-256 leaf, X25519.\n\n", osv
	printf "| what | instructions per handshake |\n|---|---|\n"
	printf "| tls_minloop, OpenSSL calls (%d handshakes) | %.0fk |\n", hm, tm / k
	printf "| sonde, the same OpenSSL calls (%d) | %.0fk |\n", hs, ts / hs / 1000
	printf "| sonde, whole event loop (%d) | %.0fk |\n\n", hl, tl / hl / 1000
	printf "Where the floor goes (tls_minloop):\n\n"
	printf "| part | k instr. | share |\n|---|---|---|\n"
	row("ECDSA P-256 verify x2 (CertificateVerify, leaf signature)", ecdsa)
	row("X25519 key share: keygen + derive", kg + dv)
	row("HKDF key schedule (EVP_KDF_derive)", kdf)
	row("d2i_X509: OSSL_DECODER context setup (OpenSSL 3.0)", dec)
	row("d2i_X509: the rest of the certificate parsing", d2i - dec)
	row("X509_verify_cert without its signature check", vc - xv)
	row("SSL_new + SSL_free + SSL_shutdown", new + fr + sd)
	row("the rest (record layer, transcript hashes, messages)", \
	    tm - ecdsa - kg - dv - kdf - d2i - (vc - xv) - new - fr - sd)
}
function row(what, v) {
	printf "| %s | %.0f | %.1f %% |\n", what, v / k, 100 * v / tm
}'
