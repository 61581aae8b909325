import { describe, expect, it } from 'vitest';
import { Playback } from './playback.svelte';

/** A media element as far as a player uses it: play() and pause() fire their events as a browser does. */
function element(player: Playback): HTMLMediaElement {
  const fake = {
    paused: true,
    currentTime: 0,
    async play() {
      fake.paused = false;
      player.onplay();
    },
    pause() {
      if (fake.paused) return;
      fake.paused = true;
      player.onpause();
    },
  };
  return fake as unknown as HTMLMediaElement;
}

describe('playing voice and video messages', () => {
  it('plays one at a time: starting one pauses the other, voice or video', async () => {
    const voice = new Playback();
    const note = new Playback();
    voice.element = element(voice);
    note.element = element(note);
    await voice.toggle();
    expect(voice.playing).toBe(true);
    await note.toggle();
    expect(note.playing).toBe(true);
    expect(voice.playing).toBe(false);
    expect(voice.element.paused).toBe(true);
    await voice.toggle();
    expect(note.playing).toBe(false);
    // Toggling the one playing pauses it.
    await voice.toggle();
    expect(voice.playing).toBe(false);
    voice.destroy();
    note.destroy();
  });

  it('sets up before playing, moves within its length and starts over at the end', async () => {
    const voice = new Playback();
    voice.element = element(voice);
    const prepared: HTMLMediaElement[] = [];
    await voice.toggle((el) => prepared.push(el));
    expect(prepared).toEqual([voice.element]);
    voice.seek(42, 30);
    expect(voice.current).toBe(30);
    expect(voice.element.currentTime).toBe(30);
    voice.seek(-5, 30);
    expect(voice.current).toBe(0);
    voice.metadata({ currentTarget: { duration: 12.5 } } as unknown as Event);
    expect(voice.found).toBe(12.5);
    voice.metadata({ currentTarget: { duration: Infinity } } as unknown as Event);
    expect(voice.found).toBe(12.5); // a WebM's unknown length is no length
    voice.current = 7;
    voice.onended();
    expect([voice.playing, voice.current]).toEqual([false, 0]);
    voice.destroy();
  });
});
