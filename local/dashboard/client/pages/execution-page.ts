/// <reference lib="dom" />
// One execution (`/executions/ID`): status and times, its file copies with a download of each, and its input,
// output and info as JSON.
import { destroyCharts } from '../charts';
import { h, replace, table } from '../dom';
import { formatBytes, formatDuration, formatInstant } from '../format';
import { jobLink, pageHref } from '../links';
import type { RenderPage } from '../page-context';
import { facts, section } from '../page-parts';
import { statusBadge } from '../status';

export const renderExecutionPage: RenderPage<'execution'> = async (
  main,
  { params, filters, view, viewHref },
) => {
  const execution = await view('execution', { id: params.id });
  destroyCharts();
  document.title = `${execution.title ?? execution.jobId} · execution ${execution.id} · dashboard`;
  const json = (label: string, value: unknown) =>
    h(
      'pre',
      { class: 'json', tabindex: 0, 'aria-label': label, 'data-json': label.toLowerCase() },
      JSON.stringify(value, null, 2),
    );
  replace(
    main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: pageHref('overview', filters) }, 'Overview'),
      ' › ',
      jobLink(execution.jobId, execution.title, filters),
      ' › Execution',
    ),
    h('h1', {}, execution.title ?? execution.jobId),
    h('p', { class: 'id' }, `Execution ${execution.id} `, statusBadge(execution.status)),
    facts([
      ['Status', execution.status],
      ['Created', formatInstant(execution.createdAt)],
      ['Started', formatInstant(execution.startedAt)],
      ['Ended', formatInstant(execution.endedAt)],
      ['Duration', formatDuration(execution.durationMs)],
      ['Last synced', formatInstant(execution.syncedAt)],
      ...(execution.removedFromApiAt
        ? [['No longer in the API since', formatInstant(execution.removedFromApiAt)] as [string, string]]
        : []),
    ]),
    section(
      'Files',
      'files',
      execution.files.length === 0
        ? h('p', { class: 'empty' }, 'This execution references no file.')
        : h(
            'div',
            { class: 'table-scroll' },
            table(
              'File copies: where the execution references the file, size, SHA-256 of the copy, status',
              ['Path', 'File', 'Size', 'SHA-256', 'Status', 'Download'],
              execution.files.map((file) => [
                { content: file.path, header: true },
                file.fileName,
                {
                  content: formatBytes(file.size),
                  attributes: { 'data-field': 'size', 'data-value': file.size ?? 'null' },
                },
                { content: h('code', {}, file.sha256 ?? '–'), attributes: { 'data-field': 'sha256' } },
                file.status === 'copied'
                  ? 'copied'
                  : `${file.status}${file.lastError ? `: ${file.lastError}` : ''}`,
                file.downloadable
                  ? h(
                      'a',
                      {
                        href: viewHref('file', { id: execution.id, index: file.index }),
                        download: file.fileName,
                        'data-download': file.index,
                      },
                      'Download',
                    )
                  : '–',
              ]),
              { 'data-table': 'files' },
            ),
          ),
    ),
    section('Input', 'input', json('Input', execution.input)),
    section('Output', 'output', json('Output', execution.output)),
    section('Info', 'info', json('Info', execution.info)),
  );
};
