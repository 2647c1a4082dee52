// The Flash screen's state: image, drive list, chosen sticks and their values, runs.
import type {
  DrivesResult,
  ErrorValue,
  FlashProgressValue,
  TargetResultValue,
} from '../../../electron/api.ts';
import type { StickRow } from '../lib/stick-csv.ts';

export interface StickRun {
  device: string;
  label: string;
  jobId: string;
  progress: FlashProgressValue | null;
  state: 'running' | 'done';
  result: TargetResultValue | null;
  logFile: string;
  error: ErrorValue | null;
}

export const flash = $state({
  image: '',
  showAll: false,
  drives: null as DrivesResult | null,
  drivesError: null as ErrorValue | null,
  /** Chosen devices, in the order chosen. */
  chosen: [] as string[],
  values: {} as Record<string, StickRow>,
  useSiteConfig: true,
  verify: true,
  csvError: '',
  phase: 'choose' as 'choose' | 'running' | 'done',
  runs: [] as StickRun[],
});
