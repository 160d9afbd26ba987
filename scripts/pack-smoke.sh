#!/usr/bin/env bash
# Packed-install smoke test: what a user of the published packages gets.
#  1. `changeset version` works on the pending changesets (in a temporary copy
#     of the manifests and .changeset/; the repository is never modified);
#  2. `pnpm pack` of every package (packages/* and apps/cli) into a temp dir;
#  3. a fresh npm project outside the workspace installs the tarballs (our
#     packages from the tarballs only, third-party deps from the registry);
#  4. the README's "From code" example (extracted from README.md) runs there
#     on the bundled bibtex, and `npx annexml --help` works.
# Needs the packages built (`pnpm build`). Usage: scripts/pack-smoke.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PNPM=${PNPM:-pnpm}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/annexml-pack-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
step() { printf 'pack-smoke [%3ds]: %s\n' "$SECONDS" "$*"; }
fail() { printf 'pack-smoke: FAILED: %s\n' "$*" >&2; exit 1; }

PACKAGES=(packages/*/ apps/cli/)
for dir in "${PACKAGES[@]}"; do
  [ -d "$dir/dist" ] || fail "$dir has no dist/: run pnpm build first"
done

# 1. changeset version, in a copy of the workspace manifests.
step "changeset version (in a temporary copy)"
CS="$WORK/changeset"
mkdir -p "$CS"
cp package.json pnpm-workspace.yaml "$CS/"
cp -R .changeset "$CS/.changeset"
for dir in "${PACKAGES[@]}"; do
  mkdir -p "$CS/$dir"
  cp "$dir/package.json" "$CS/$dir/"
  [ -f "$dir/CHANGELOG.md" ] && cp "$dir/CHANGELOG.md" "$CS/$dir/"
done
pending=$(find "$CS/.changeset" -name '*.md' ! -name README.md | wc -l)
(cd "$CS" && "$ROOT/node_modules/.bin/changeset" version >"$WORK/changeset.log" 2>&1) ||
  { cat "$WORK/changeset.log" >&2; fail "changeset version"; }
left=$(find "$CS/.changeset" -name '*.md' ! -name README.md | wc -l)
[ "$left" -eq 0 ] || fail "changeset version left $left of $pending changesets"
if [ "$pending" -gt 0 ]; then
  bumped=$(cd "$CS" && for dir in "${PACKAGES[@]}"; do
    [ -f "$dir/CHANGELOG.md" ] && node -p "require('./${dir}package.json').version"
  done | wc -l)
  [ "$bumped" -gt 0 ] || fail "changeset version wrote no CHANGELOG.md"
  step "  $pending changesets -> $bumped packages versioned"
fi

# 2. pnpm pack every package.
step "pnpm pack"
TARBALLS="$WORK/tarballs"
mkdir -p "$TARBALLS"
for dir in "${PACKAGES[@]}"; do
  (cd "$dir" && "$PNPM" pack --pack-destination "$TARBALLS" >/dev/null)
done
count=$(find "$TARBALLS" -name '*.tgz' | wc -l)
[ "$count" -eq "${#PACKAGES[@]}" ] || fail "expected ${#PACKAGES[@]} tarballs, got $count"

# 3. A fresh project outside the workspace installs the tarballs with npm.
step "npm install of $count tarballs into a fresh project"
APP="$WORK/app"
mkdir -p "$APP/data/bibtex"
printf '{ "name": "annexml-smoke", "private": true, "type": "module" }\n' >"$APP/package.json"
(cd "$APP" && npm install --no-audit --no-fund --loglevel=error "$TARBALLS"/*.tgz >"$WORK/npm.log" 2>&1) ||
  { cat "$WORK/npm.log" >&2; fail "npm install"; }
# Every @annexml package must come from our tarballs, never from a registry.
(cd "$APP" && node -e '
  const lock = require("./package-lock.json");
  const ours = Object.entries(lock.packages).filter(([p]) => /(^|\/)node_modules\/@annexml\//.test(p));
  const bad = ours.filter(([, v]) => !String(v.resolved ?? "").startsWith("file:"));
  if (ours.length === 0 || bad.length > 0) {
    console.error("not from the tarballs:", bad.map(([p, v]) => `${p} (${v.resolved})`).join(", ") || "no @annexml packages");
    process.exit(1);
  }
') || fail "an @annexml package was not installed from its tarball"

# 4. The README's "From code" example, and the CLI.
step "README \"From code\" example"
node -e '
  const readme = require("fs").readFileSync(process.argv[1], "utf8");
  const m = /^## From code\n[\s\S]*?^```ts\n([\s\S]*?)^```$/m.exec(readme);
  if (!m) { console.error("README.md has no ```ts block under ## From code"); process.exit(1); }
  require("fs").writeFileSync(process.argv[2], m[1]);
' "$ROOT/README.md" "$APP/example.mjs" || fail "cannot extract the README example"
grep -o 'data/[A-Za-z0-9_./-]*' "$APP/example.mjs" | sort -u | while read -r file; do
  [ -f "$ROOT/$file" ] || fail "the example reads $file, which is not in the repository"
  mkdir -p "$APP/$(dirname "$file")"
  cp "$ROOT/$file" "$APP/$file"
done
(cd "$APP" && node example.mjs >"$WORK/example.out" 2>"$WORK/example.err") ||
  { cat "$WORK/example.out" "$WORK/example.err" >&2; fail "the README example"; }
cat "$WORK/example.out"
# It prints P@1..5: five numbers, P@1 a plausible score (the README shows ~0.6).
node -e '
  const nums = (require("fs").readFileSync(process.argv[1], "utf8").match(/\d+\.\d+/g) ?? []).map(Number);
  if (nums.length !== 5 || !(nums[0] > 0.5 && nums[0] <= 1)) {
    console.error("expected P@1..5 with P@1 > 0.5, got", nums);
    process.exit(1);
  }
' "$WORK/example.out" || fail "the README example printed no plausible P@1..5"

step "npx annexml --help"
(cd "$APP" && npx --no-install annexml --help >"$WORK/help.out" 2>&1) ||
  { cat "$WORK/help.out" >&2; fail "npx annexml --help"; }
grep -q "train" "$WORK/help.out" && grep -q "predict" "$WORK/help.out" ||
  { cat "$WORK/help.out" >&2; fail "annexml --help does not list train and predict"; }
step "ok"
