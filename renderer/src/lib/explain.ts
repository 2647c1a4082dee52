// Errors in plain words with the next step. The engine's message names the file
// and the problem; this adds what a technician does about it, per error code.

import type { ErrorValue } from '../../../electron/api.ts';

export interface Explained {
  message: string;
  next: string;
}

const NEXT: Record<string, string> = {
  ACCESS_DENIED:
    'On Windows, Controlled Folder Access or an antivirus may be holding the drive: allow this app in Windows Security (Virus & threat protection > Ransomware protection), or pause the antivirus, then try again.',
  BUSY: 'Another program has the stick open (a file window, an antivirus scan). Close it, or unplug and replug the stick, then try again.',
  IO_ERROR:
    'The stick was removed or failed while writing. Plug it in firmly (or use another stick) and write it again.',
  NO_DEVICE: 'The stick is gone: it was unplugged. Plug it in again and choose it from the list.',
  NOT_LISTED:
    'The stick is gone from the drive list: it was unplugged. Plug it in again and choose it from the list.',
  TOO_SMALL: 'The image is larger than this stick. Use a bigger stick.',
  IMAGE_SHORT: 'The image file changed or is incomplete. Build it again.',
  NO_POLKIT_AGENT:
    'Writing needs an administrator password, but no password prompt (polkit agent) is running. Start one (e.g. polkit-gnome or lxpolkit) or log in to a full desktop session, then try again.',
  NO_PKEXEC: 'Install polkit (the pkexec command) and a polkit agent, then try again.',
  ELEVATION_DENIED: 'Nothing was written. Flash again and accept the administrator prompt.',
  NO_SPACE: 'The disk where the output goes is full. Free some space or choose another folder.',
  MISSING_TOOLS:
    'Use a bootkit that includes these tools, or tick "Build even if the bootkit lacks tools" under Advanced (the install may then fail on the node).',
  OS_IMAGE_MISSING: 'Choose the OS image again: the file is not there any more.',
  CHECKSUM_MISMATCH: 'The OS image does not match its checksum: download it again.',
  SHA_MISMATCH: 'The OS image does not match its checksum: download it again.',
  INVALID_CONFIG: 'Correct the fields marked in the site settings.',
  CANCELLED: 'Nothing more will happen. Start again when you are ready.',
  DRIVELIST_FAILED:
    'The drive list could not be read. Unplug and replug the stick; restart the app if it persists.',
  NOT_BOOTKIT: 'Choose the bootkit .tar.gz (it holds vmlinuz and an initramfs), or the initramfs itself.',
  OUT_UNWRITABLE: 'Choose a folder you can write to for the installer.',
};

/** `fallback`: the next step where the screen knows more than the code (e.g. "this must be a bootkit"). */
export function explain(e: ErrorValue, fallback?: string): Explained {
  return {
    message: e.message,
    next:
      NEXT[e.code] ?? fallback ?? 'Check the file named above, then try again. The app log has the details.',
  };
}
