// The renderer of every page of site-map.ts: a page added there does not type-check until it has its file here.
import type { PageName } from '../../site-map';
import type { RenderPage } from '../page-context';
import { renderExecutionPage } from './execution-page';
import { renderJobPage } from './job-page';
import { renderOverviewPage } from './overview-page';

export const PAGE_RENDERERS: { readonly [Page in PageName]: RenderPage<Page> } = {
  overview: renderOverviewPage,
  job: renderJobPage,
  execution: renderExecutionPage,
};
