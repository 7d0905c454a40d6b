// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9)
// beside each file named, for the server to send as they are: compressed
// once at the highest levels instead of on every request at a fast one.
// Usage: node scripts/precompress.js FILE...
const fs = require('node:fs');
const zlib = require('node:zlib');

for (const file of process.argv.slice(2)) {
  const data = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  fs.writeFileSync(`${file}.br`, br);
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
  console.log(`${file}: ${data.length} bytes, ${br.length} brotli`);
}
