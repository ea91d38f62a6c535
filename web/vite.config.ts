import { defineConfig } from 'vitest/config';

// The bundle is committed (web/dist) and embedded in the `flowstate` binary
// by shared/web, so its file names must not change from build to build:
// no content hashes, one JS and one CSS file. Cache busting is done by the
// server with ETags instead. `base: './'` lets the same files be served from
// any path of a static site.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
    // CodeMirror, yaml and dagre make ~550 kB (~180 kB gzipped), one file on purpose.
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
        inlineDynamicImports: true,
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
