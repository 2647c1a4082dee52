// The Build screen's state: inputs, the site config form, the running build.
import type {
  BuildResult,
  EngineChoice,
  ErrorValue,
  InspectResult,
  OsImageResult,
} from '../../../electron/api.ts';
import { initialStages, type StageView } from '../lib/build-stages.ts';
import { type ConfigForm, emptyForm, type Issue } from '../lib/config-form.ts';

export const build = $state({
  /** What the bootkit field holds: a bootkit, or the Bootkit OS build output it is made from. */
  bootkitSource: 'bootkit' as 'bootkit' | 'os-build',
  bootkit: '',
  inspecting: false,
  inspect: null as InspectResult | null,
  inspectError: null as ErrorValue | null,
  osImage: '',
  osInfo: null as OsImageResult | null,
  osError: null as ErrorValue | null,
  form: emptyForm() as ConfigForm,
  /** Problems the validator found, by field; null until first checked. */
  issues: null as Issue[] | null,
  checking: false,
  touched: false,
  configNote: '',
  password: '',
  passwordAgain: '',
  bios: false,
  cmdline: '',
  label: '',
  engine: 'auto' as EngineChoice,
  userApps: '',
  allowMissingTools: false,
  /** off; shim (Microsoft-trusted, a vendor-signed kernel); own (shim, kernel signed with our key); uki (signed UKI). */
  secureBoot: 'off' as 'off' | 'shim' | 'own' | 'uki',
  signKey: '',
  signCert: '',
  signKeyPassFile: '',
  out: '',
  phase: 'edit' as 'edit' | 'running' | 'done' | 'failed' | 'cancelled',
  jobId: '',
  stages: initialStages() as StageView[],
  result: null as BuildResult | null,
  error: null as ErrorValue | null,
});
