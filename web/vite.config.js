// Builds the dashboard into offchain/web/static (shipped in the Python package).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../offchain/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    chunkSizeWarningLimit: 800,
  },
});
