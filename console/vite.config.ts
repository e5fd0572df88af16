import { defineConfig } from "vite";

// The collector serves dist/ at "/"; during `npm run dev` API calls go to a local collector.
const collector = process.env.SPYGLASS_URL ?? "http://127.0.0.1:4318";

export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { "/api": collector, "/healthz": collector },
  },
});
