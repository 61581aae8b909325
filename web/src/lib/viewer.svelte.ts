// The photo open in the viewer (components/MediaViewer.svelte, mounted once by the app so that
// it does not go when the chat's list scrolls its message away).

import type { Attachment } from './api';

export interface Viewing {
  chatId: number;
  attachment: Attachment;
  /** What opened it, to give focus back to when it closes. */
  opener: HTMLElement | null;
}

export const viewer = $state({ current: null as Viewing | null });

export function openViewer(chatId: number, attachment: Attachment, opener: HTMLElement | null): void {
  viewer.current = { chatId, attachment, opener };
}

export function closeViewer(): void {
  viewer.current = null;
}
