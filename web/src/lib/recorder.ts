// Recording a voice message or a short round video ("кружок") in the browser: getUserMedia and
// MediaRecorder. A voice message's loudness is sampled every 50 ms by an AnalyserNode and reduced
// to at most 64 values 0–255, its waveform; its length is measured here (a browser's WebM has
// none in it). Voice messages stop at 5 minutes, videos at a minute.

export type RecordKind = 'voice' | 'video';

export const VOICE_LIMIT_MS = 5 * 60_000;
export const VIDEO_LIMIT_MS = 60_000;
/** How often the loudness is sampled. */
const SAMPLE_MS = 50;
/** At most this many values in a waveform. */
export const WAVEFORM_BARS = 64;

/** Container types to ask MediaRecorder for, best first. */
const TYPES: Record<RecordKind, string[]> = {
  voice: ['audio/webm;codecs=opus', 'audio/mp4', 'audio/ogg;codecs=opus'],
  video: ['video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4'],
};

/** The type to record in, of those the browser says it can; null lets it choose. */
export function pickType(kind: RecordKind, supported: (type: string) => boolean): string | null {
  return TYPES[kind].find((type) => {
    try {
      return supported(type);
    } catch {
      return false;
    }
  }) ?? null;
}

/** A file name's extension for a recorded type: `webm`, `mp4`, `ogg`. */
export function extensionOf(type: string): string {
  const base = type.split(';')[0].trim().toLowerCase();
  if (base.endsWith('/mp4')) return 'mp4';
  if (base.endsWith('/ogg')) return 'ogg';
  return 'webm';
}

/** How loud one sample of the analyser's time-domain bytes (silence is 128) is: 0–255. */
export function peakOf(samples: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i += 1) peak = Math.max(peak, Math.abs(samples[i] - 128));
  return Math.min(255, peak * 2);
}

/**
 * A waveform from loudness samples: at most `bars` values (the loudest sample of each stretch),
 * scaled so that the loudest reaches 255 — by at most four times, so a quiet room stays flat.
 */
export function waveformOf(peaks: number[], bars = WAVEFORM_BARS): number[] {
  if (peaks.length === 0) return [];
  const count = Math.min(bars, peaks.length);
  const reduced: number[] = [];
  for (let bar = 0; bar < count; bar += 1) {
    const from = Math.floor((bar * peaks.length) / count);
    const to = Math.max(from + 1, Math.floor(((bar + 1) * peaks.length) / count));
    reduced.push(Math.max(...peaks.slice(from, to)));
  }
  const loudest = Math.max(...reduced);
  const gain = loudest > 0 ? Math.min(4, 255 / loudest) : 1;
  return reduced.map((value) => Math.max(0, Math.min(255, Math.round(value * gain))));
}

/** Why recording could not start: no permission, no such device, a browser that cannot. */
export class RecordError extends Error {
  constructor(public code: 'denied' | 'missing' | 'unsupported' | 'failed') {
    super(code);
  }
}

/** Whether this browser can record at all (a secure page with a microphone API and MediaRecorder). */
export function canRecord(): boolean {
  return typeof MediaRecorder !== 'undefined' && typeof navigator !== 'undefined' && Boolean(navigator.mediaDevices?.getUserMedia);
}

export interface Recorded {
  blob: Blob;
  /** The recorded container type, e.g. `audio/webm;codecs=opus`. */
  type: string;
  durationMs: number;
  /** A voice message's loudness (empty for videos). */
  waveform: number[];
}

interface RecordOptions {
  /** The loudness now, 0–1, every 50 ms (voice). */
  onLevel?: (level: number) => void;
  /** The limit was reached: the caller stops and sends (or keeps) it. */
  onLimit?: () => void;
}

export class Recorder {
  private chunks: Blob[] = [];
  private peaks: number[] = [];
  private startedAt = 0;
  private timers: ReturnType<typeof setInterval>[] = [];
  private finished = false;

  private constructor(
    readonly kind: RecordKind,
    /** The camera and microphone, for a video's preview. */
    readonly stream: MediaStream,
    private recorder: MediaRecorder,
    private audio: AudioContext | null,
  ) {}

  /**
   * Asks for the microphone (and the camera for a video) and starts recording. Call it straight
   * from a click: the audio context it makes must be started by the person's gesture.
   */
  static async start(kind: RecordKind, options: RecordOptions = {}): Promise<Recorder> {
    if (!canRecord()) throw new RecordError('unsupported');
    // Made before anything is awaited, while the click still counts as the person's gesture.
    let audio: AudioContext | null = null;
    if (kind === 'voice' && typeof AudioContext !== 'undefined') {
      try {
        audio = new AudioContext();
      } catch {
        audio = null;
      }
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(kind === 'voice'
        ? { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } }
        : { audio: { echoCancellation: true, noiseSuppression: true }, video: { width: { ideal: 480 }, height: { ideal: 480 }, aspectRatio: { ideal: 1 }, facingMode: 'user' } });
    } catch (error) {
      void audio?.close().catch(() => {});
      const name = (error as { name?: string } | null)?.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') throw new RecordError('denied');
      if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') throw new RecordError('missing');
      throw new RecordError('failed');
    }
    const type = pickType(kind, (candidate) => MediaRecorder.isTypeSupported(candidate));
    let recorder: MediaRecorder;
    try {
      recorder = new MediaRecorder(stream, {
        ...(type ? { mimeType: type } : {}),
        ...(kind === 'voice' ? { audioBitsPerSecond: 32_000 } : { videoBitsPerSecond: 600_000, audioBitsPerSecond: 48_000 }),
      });
    } catch {
      for (const track of stream.getTracks()) track.stop();
      void audio?.close().catch(() => {});
      throw new RecordError('unsupported');
    }
    const recording = new Recorder(kind, stream, recorder, audio);
    recording.begin(options);
    return recording;
  }

  private begin(options: RecordOptions): void {
    this.recorder.ondataavailable = (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    };
    if (this.audio) {
      const analyser = this.audio.createAnalyser();
      analyser.fftSize = 1024;
      this.audio.createMediaStreamSource(this.stream).connect(analyser);
      void this.audio.resume().catch(() => {});
      const samples = new Uint8Array(analyser.fftSize);
      this.timers.push(setInterval(() => {
        analyser.getByteTimeDomainData(samples);
        const peak = peakOf(samples);
        this.peaks.push(peak);
        options.onLevel?.(peak / 255);
      }, SAMPLE_MS));
    }
    const limit = this.kind === 'voice' ? VOICE_LIMIT_MS : VIDEO_LIMIT_MS;
    this.timers.push(setTimeout(() => options.onLimit?.(), limit));
    // Pieces every second, so that a recording cut short by the limit or a stop loses nothing.
    this.recorder.start(1000);
    this.startedAt = performance.now();
  }

  /** How long it has been recording, in milliseconds. */
  elapsed(): number {
    return this.startedAt ? performance.now() - this.startedAt : 0;
  }

  /** Stops and gives the recording. */
  stop(): Promise<Recorded> {
    const durationMs = Math.round(this.elapsed());
    return new Promise((resolve, reject) => {
      this.recorder.onstop = () => {
        const type = this.recorder.mimeType || this.chunks[0]?.type || (this.kind === 'voice' ? 'audio/webm' : 'video/webm');
        const blob = new Blob(this.chunks, { type });
        this.release();
        if (blob.size === 0) reject(new RecordError('failed'));
        else resolve({ blob, type, durationMs, waveform: this.kind === 'voice' ? waveformOf(this.peaks) : [] });
      };
      if (this.recorder.state === 'inactive') this.recorder.onstop(new Event('stop'));
      else this.recorder.stop();
    });
  }

  /** Stops and throws the recording away. */
  cancel(): void {
    this.recorder.onstop = null;
    this.recorder.ondataavailable = null;
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    this.release();
  }

  /** The microphone and camera go off (their indicator too), the timers stop. */
  private release(): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const track of this.stream.getTracks()) track.stop();
    void this.audio?.close().catch(() => {});
  }
}
