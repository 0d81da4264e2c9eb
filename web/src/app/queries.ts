import { queryOptions } from '@tanstack/react-query';
import { ok, tranche } from './client.ts';
import { keys } from './query.ts';

/** Queries more than one page reads, defined once so that their keys and data always agree. */

export const contractQuery = (id: string) =>
  queryOptions({
    queryKey: keys.contract(id),
    queryFn: () => ok(tranche.GET('/v1/contracts/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
