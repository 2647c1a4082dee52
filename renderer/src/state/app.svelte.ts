// Which screen is shown; screens keep their own state in modules so moving
// between them never loses what was typed.
export type Screen = 'build' | 'flash' | 'preview' | 'rebuild' | 'log';

export const nav = $state<{ screen: Screen }>({ screen: 'build' });

export function go(screen: Screen): void {
  nav.screen = screen;
  // Move focus to the new screen's heading, so keyboard and screen reader users land there.
  queueMicrotask(() => document.getElementById('screen-title')?.focus());
}
