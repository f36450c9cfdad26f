#!/usr/bin/env bash
# Re-vendor hls.js into uploads/static/uploads/vendor/ from node_modules (run `npm ci` first).
# Copies dist/hls.min.js without its trailing `//# sourceMappingURL=` line (the map is not vendored,
# and whitenoise's manifest storage fails collectstatic on a reference that does not resolve),
# copies the LICENSE, and writes the README that says which version this is.
# To move to another version: pin it exactly in package.json, `npm install`, then run this script.
# Usage: scripts/vendor_hlsjs.sh   (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=node_modules/hls.js
DEST=uploads/static/uploads/vendor

if [ ! -f "$SRC/dist/hls.min.js" ]; then
  echo "vendor_hlsjs: $SRC/dist/hls.min.js is missing; run \`npm ci\` first" >&2
  exit 1
fi
version=$(node -p "require('./$SRC/package.json').version")
pinned=$(node -p "require('./package.json').devDependencies['hls.js']")
if [ "$version" != "$pinned" ]; then
  echo "vendor_hlsjs: node_modules has hls.js $version but package.json pins $pinned; run \`npm ci\`" >&2
  exit 1
fi

mkdir -p "$DEST"
sed '/^\/\/# sourceMappingURL=/d' "$SRC/dist/hls.min.js" >"$DEST/hls.min.js"
cp "$SRC/LICENSE" "$DEST/LICENSE"
cat >"$DEST/README.md" <<EOF
# Vendored front-end files

- \`hls.min.js\`: [hls.js](https://github.com/video-dev/hls.js) $version, \`dist/hls.min.js\` of the
  npm package \`hls.js@$version\` (pinned in package.json / package-lock.json), with its trailing
  \`//# sourceMappingURL=hls.min.js.map\` line removed: the source map is not vendored.
- \`LICENSE\`: hls.js's licence (Apache-2.0), from the same package.

Written by \`scripts/vendor_hlsjs.sh\`; do not edit these files by hand. To re-vendor (or move to
another version: pin it exactly in package.json and run \`npm install\` first):

\`\`\`bash
npm ci
scripts/vendor_hlsjs.sh
\`\`\`
EOF
echo "vendor_hlsjs: hls.js $version -> $DEST"
