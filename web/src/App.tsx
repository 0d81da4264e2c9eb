import { QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { RouterProvider } from 'react-router';
import { ConfirmProvider } from './app/ConfirmDialog.tsx';
import { queryClient } from './app/query.ts';
import { createRouter } from './app/routes.tsx';
import { NoticeProvider } from './notice.tsx';

/** Server state (TanStack Query over the generated client), the alert/status regions, the confirmation dialog, the routes. */
export function App() {
  const [router] = useState(createRouter);
  return (
    <QueryClientProvider client={queryClient}>
      <NoticeProvider>
        <ConfirmProvider>
          <RouterProvider router={router} />
        </ConfirmProvider>
      </NoticeProvider>
    </QueryClientProvider>
  );
}
