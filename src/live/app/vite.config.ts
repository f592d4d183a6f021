/**
 * Builds the live playground into dist/live/app/: index.html and one classic script, live.js
 * (CSS and the landscape worker inlined, no module imports), so the folder works from any static
 * host and from file://. A Node-only module reaching the bundle fails the build. The image data,
 * digits.js, is written after this by src/live/bundle-digits.ts (npm run build:live).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>losscape live</title></head>
<body><script src="digits.js"></script><script src="live.js"></script></body>
</html>
`;

/** Refuse node: builtins (the browser must import only browser-safe modules) and write index.html. */
function livePage(): Plugin {
  return {
    name: 'losscape-live-page',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:')) this.error(`${importer ?? '?'} imports ${id}: the live page must import only browser-safe modules`);
      return null;
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'index.html', source: INDEX_HTML });
    },
  };
}

export default defineConfig({
  root: here('.'),
  logLevel: 'warn',
  plugins: [livePage()],
  build: {
    outDir: here('../../../dist/live/app'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: false,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: here('main.ts'),
      output: {
        format: 'iife',
        entryFileNames: 'live.js',
        codeSplitting: false,
      },
    },
  },
});
