// Repositories and the snapshots the server can see without keys: time, size, device.
import {enc, get} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatBytes, formatTime} from '../format.js';
import {tenantHref} from '../state.js';
import {loading, pageHeader, section, table} from '../ui.js';

export async function renderRepos(main, tenant) {
  replace(main, loading());
  const {repos = []} = await get(`tenants/${enc(tenant)}/repos`);
  replace(main,
    pageHeader(t('repos.title')),
    h('p', {class: 'lead'}, t('repos.lead')),
    section(t('repos.list'),
      table(t('repos.list'), [
        {label: t('repo.name'), cell: (r) => h('a', {href: tenantHref(tenant, `repos/${enc(r.name)}`)}, r.name)},
        {label: t('repo.used'), cell: (r) => formatBytes(r.used_bytes), class: 'num'},
        {label: t('repo.objects'), cell: (r) => String(r.objects ?? 0), class: 'num'},
        {label: t('repo.created'), cell: (r) => formatTime(r.created)},
      ], repos, t('repos.none'))));
}

export async function renderSnapshots(main, tenant, repo) {
  replace(main, loading());
  const {snapshots = []} = await get(`tenants/${enc(tenant)}/repos/${enc(repo)}/snapshots`);
  const sorted = [...snapshots].sort((a, b) => (b.time || 0) - (a.time || 0));
  replace(main,
    h('p', {class: 'crumbs'}, h('a', {href: tenantHref(tenant, 'repos')}, t('repos.title')), ' / ', repo),
    pageHeader(t('snapshots.title', repo)),
    h('p', {class: 'lead'}, t('snapshots.lead')),
    section(t('snapshots.list', sorted.length),
      table(t('snapshots.list', sorted.length), [
        {label: t('snapshot.time'), cell: (s) => formatTime(s.time)},
        {label: t('snapshot.device'), cell: (s) => s.device || '—'},
        {label: t('snapshot.size'), cell: (s) => formatBytes(s.size), class: 'num'},
        {label: t('snapshot.id'), cell: (s) => h('code', {}, String(s.id || '').slice(0, 8))},
      ], sorted, t('snapshots.none'))));
}
