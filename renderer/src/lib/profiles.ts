// Saved profiles: named site configs in the renderer's localStorage. A profile
// is the config form only; the password lives in its own inputs and is never
// part of it (tests check the stored text for the typed password).
import type { ConfigForm, Profile } from './config-form.ts';

const KEY = 'emt.profiles.v1';

export function loadProfiles(store: Storage = localStorage): Profile[] {
  try {
    const v = JSON.parse(store.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as Profile[]).filter((p) => typeof p?.name === 'string' && p.form) : [];
  } catch {
    return [];
  }
}

export function saveProfile(name: string, form: ConfigForm, store: Storage = localStorage): Profile[] {
  const clean: ConfigForm = { ...form, write_files: form.write_files.map((w) => ({ ...w })) };
  const list = loadProfiles(store).filter((p) => p.name !== name);
  list.push({ name, form: clean, savedAt: new Date().toISOString() });
  list.sort((a, b) => a.name.localeCompare(b.name));
  store.setItem(KEY, JSON.stringify(list));
  return list;
}

export function deleteProfile(name: string, store: Storage = localStorage): Profile[] {
  const list = loadProfiles(store).filter((p) => p.name !== name);
  store.setItem(KEY, JSON.stringify(list));
  return list;
}
