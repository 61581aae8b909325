import { describe, expect, it } from 'vitest';
import { extensionOf, peakOf, pickType, waveformOf, WAVEFORM_BARS } from './recorder';

describe('the type to record in', () => {
  it('is WebM with Opus where the browser can, else MP4 (Safari)', () => {
    expect(pickType('voice', () => true)).toBe('audio/webm;codecs=opus');
    expect(pickType('voice', (type) => type === 'audio/mp4')).toBe('audio/mp4');
    expect(pickType('video', () => true)).toBe('video/webm;codecs=vp8,opus');
    expect(pickType('video', (type) => type === 'video/mp4')).toBe('video/mp4');
  });

  it('is left to the browser when it knows none of them, or asking throws', () => {
    expect(pickType('voice', () => false)).toBeNull();
    expect(pickType('voice', () => {
      throw new Error('no');
    })).toBeNull();
  });

  it('names files by their container', () => {
    expect(extensionOf('audio/webm;codecs=opus')).toBe('webm');
    expect(extensionOf('audio/mp4')).toBe('mp4');
    expect(extensionOf('video/mp4;codecs=avc1')).toBe('mp4');
    expect(extensionOf('audio/ogg;codecs=opus')).toBe('ogg');
  });
});

describe('loudness', () => {
  it('reads a sample of time-domain bytes as 0–255 around the silent 128', () => {
    expect(peakOf(new Uint8Array(64).fill(128))).toBe(0);
    expect(peakOf([128, 160, 100, 128])).toBe(64);
    expect(peakOf([0, 255])).toBe(255);
  });

  it('reduces a long recording to 64 bars, the loudest of each stretch', () => {
    // 30 s at 20 samples a second.
    const peaks = Array.from({ length: 600 }, (_, i) => (i % 100 === 50 ? 200 : 20));
    const wave = waveformOf(peaks);
    expect(wave).toHaveLength(WAVEFORM_BARS);
    expect(Math.max(...wave)).toBe(255);
    expect(wave.filter((v) => v === 255)).toHaveLength(6);
    expect(wave.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
  });

  it('keeps a short recording as it is, scaled so the loudest reaches the top', () => {
    expect(waveformOf([10, 100, 50])).toEqual([26, 255, 127]);
  });

  it('makes a quiet room no louder than four times, and silence stays flat', () => {
    expect(waveformOf([2, 4, 8])).toEqual([8, 16, 32]);
    expect(waveformOf([0, 0, 0])).toEqual([0, 0, 0]);
    expect(waveformOf([])).toEqual([]);
  });
});
