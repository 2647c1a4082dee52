// A site config written out in one of our formats, and a one-line summary of it.
import { stringify } from 'yaml';
import { toLegacyConfigFile } from './legacy.ts';
import type { ConfigFormat } from './load.ts';
import type { SiteConfig } from './schema.ts';

export function renderConfig(config: SiteConfig, to: ConfigFormat): string {
  if (to === 'legacy') return toLegacyConfigFile(config);
  if (to === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  return `# EMT Standalone Node site config, written by emt-usb\n${stringify(config, { lineWidth: 0 })}`;
}

export function summarizeConfig(c: SiteConfig): string {
  const net = c.static_ip ? `static IP ${c.static_ip}/${c.subnet_mask}` : 'DHCP';
  const parts = [
    `user ${c.user_name}`,
    `host type ${c.host_type}`,
    c.hostname ? `host name ${c.hostname}` : undefined,
    net,
    c.ssh_key ? `${c.ssh_key.split('\n').length} SSH key(s)` : 'no SSH key',
    c.lvm_size_ingb > 0 ? `LVM ${c.lvm_size_ingb} GB` : undefined,
    `${c.write_files.length} write_files`,
    `${c.runcmd.length} runcmd`,
    c.sticks.length > 0 ? `${c.sticks.length} per-stick override(s)` : undefined,
    `then ${c.after_install}`,
  ];
  return parts.filter(Boolean).join(', ');
}
