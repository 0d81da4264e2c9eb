import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web app: `vite build web` writes web/dist, served by the API server (src/http/web.ts).
// `vite web` (dev server) proxies the API to a running `npm start` on port 3000.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/v1': 'http://127.0.0.1:3000' } },
});
