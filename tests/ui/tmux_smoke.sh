#!/usr/bin/env bash
# tmux smoke test: `vmssdash demo` in a real PTY, 256 colours and NO_COLOR, at 80x24.
#
# Waits for text (never for time alone), sends one key per send-keys, asserts on the
# captured screen, and measures the dashboard's idle CPU. Uses a private tmux server
# (-L) so it never touches the user's tmux. Exit 0 = pass.
#
#   tests/ui/tmux_smoke.sh            # both passes
#   VMSSDASH=path/to/vmssdash tests/ui/tmux_smoke.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")/../.." && pwd)"
VMSSDASH="${VMSSDASH:-$HERE/.venv/bin/vmssdash}"
PY="${PY:-$HERE/.venv/bin/python}"
SOCK="vmssdash-smoke-$$"
T="tmux -L $SOCK"
OUT="$(mktemp -d)"
trap '$T kill-server 2>/dev/null || true; rm -rf "$OUT"' EXIT

fail() { echo "FAIL: $*" >&2; echo "--- screen ---" >&2; cat "$OUT/screen.txt" >&2 || true; exit 1; }

capture() { $T capture-pane -p -t smoke > "$OUT/screen.txt"; }

wait_for() {  # wait_for <text> [tries]: poll the screen for text, 0.2 s apart
    local text="$1" tries="${2:-100}"
    for _ in $(seq 1 "$tries"); do
        capture
        grep -qF -- "$text" "$OUT/screen.txt" && return 0
        sleep 0.2
    done
    fail "never saw: $text"
}

key() { $T send-keys -t smoke "$1"; sleep 0.3; }

run_pass() {  # run_pass <label> <env...>
    local label="$1"; shift
    $T kill-server 2>/dev/null || true
    $T new-session -d -s smoke -x 80 -y 24 "env $* $VMSSDASH demo --set vmss-web --speed 20"
    wait_for "UD 4" 150  # rows appear with the first snapshot
    capture
    for glyph in "●" "○"; do
        grep -qF "$glyph" "$OUT/screen.txt" || fail "$label: glyph $glyph missing"
    done
    key j; key space
    wait_for "marked 1"
    key u
    wait_for "marked"
    key g
    wait_for "fault domain"
    key escape; sleep 0.3
    key '?'
    wait_for "vmssdash help"
    key escape; sleep 0.3
    $T capture-pane -p -e -t smoke > "$OUT/screen.ansi"
    # The cursor must stay visible without colour: it is drawn reversed (SGR 7).
    grep -qE $'\e\\[([0-9]+;)*7(;[0-9]+)*m' "$OUT/screen.ansi" || fail "$label: no reverse-video cursor"
    if [ "$label" = "256-colour" ]; then
        grep -qE '38;(5|2);' "$OUT/screen.ansi" || fail "$label: no colour escapes"
    fi
    # Idle CPU of the dashboard process over 3 s (polling a quiet set).
    local pid
    pid="$(pgrep -n -f "python.*vmssdash demo --set vmss-web --speed 20" || true)"
    if [ -n "$pid" ]; then
        "$PY" - "$pid" <<'EOF'
import sys, time, psutil
p = psutil.Process(int(sys.argv[1]))
p.cpu_percent(None); time.sleep(3); cpu = p.cpu_percent(None)
print(f"  idle CPU of the dashboard: {cpu:.1f} %")
EOF
    fi
    key q
    for _ in $(seq 1 50); do
        $T has-session -t smoke 2>/dev/null || break
        capture 2>/dev/null || true
        sleep 0.1
    done
    echo "ok: $label"
}

run_pass "256-colour" "-u NO_COLOR TERM=tmux-256color"
run_pass "no-color" "NO_COLOR=1 TERM=tmux-256color"
echo "tmux smoke passed"
