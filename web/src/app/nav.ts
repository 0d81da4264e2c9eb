import type { RouteObject } from 'react-router';

/** A link in the header's main navigation. `match`: the path prefixes where it is the current section. */
export type NavItem = { to: string; label: string; order: number; match?: string[] };

/**
 * What a feature folder adds to the shell: `features/<area>/routes.tsx` exports `routes`
 * (children of the signed-in layout) and optionally `nav`. The shell collects every such file
 * (app/routes.tsx), so a new feature needs no edit of the shell.
 */
export type FeatureRoutes = { routes: RouteObject[]; nav?: NavItem[]; publicRoutes?: RouteObject[] };
