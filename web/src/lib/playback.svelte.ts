// Playing a voice message or a round video message: the one <audio> or <video> of a player, where
// it is (followed every frame while it plays), its length when the sender gave none, and the rule
// that one plays at a time — starting one pauses whichever played before, voice or video.

/** The element playing now: starting another pauses it. */
let playingNow: HTMLMediaElement | null = null;

export class Playback {
  /** The player's element (bind:this). */
  element = $state.raw<HTMLMediaElement | undefined>();
  playing = $state(false);
  /** Seconds played. */
  current = $state(0);
  /** The length the browser found (seconds), for when the sender gave none. */
  found = $state(0);
  private frame = 0;
  /** The element as it last played (bind:this may have let go of it by onDestroy). */
  private played: HTMLMediaElement | null = null;

  /** Follows the position every frame while it plays. */
  private follow(): void {
    cancelAnimationFrame(this.frame);
    const step = () => {
      const element = this.element;
      if (!element || element.paused) return;
      this.current = element.currentTime;
      this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  /** Plays or pauses it; `prepare` runs just before it plays (the speed). Another playing is paused. */
  async toggle(prepare?: (element: HTMLMediaElement) => void): Promise<void> {
    const element = this.element;
    if (!element) return;
    if (!element.paused) {
      element.pause();
      return;
    }
    if (playingNow && playingNow !== element) playingNow.pause();
    prepare?.(element);
    try {
      await element.play();
    } catch {
      this.playing = false;
    }
  }

  /** Moves to `seconds` (within 0…`total`). */
  seek(seconds: number, total: number): void {
    const element = this.element;
    if (!element || total <= 0) return;
    const to = Math.max(0, Math.min(total, seconds));
    element.currentTime = to;
    this.current = to;
  }

  /** The element's metadata loaded: its length, when it has one. */
  readonly metadata = (event: Event): void => {
    const length = (event.currentTarget as HTMLMediaElement).duration;
    if (Number.isFinite(length)) this.found = length;
  };

  readonly onplay = (): void => {
    // Started some other way than toggle() (a resumed link): the rule holds all the same.
    if (playingNow && playingNow !== this.element) playingNow.pause();
    this.playing = true;
    playingNow = this.played = this.element ?? null;
    this.follow();
  };

  readonly onpause = (): void => {
    this.playing = false;
    if (this.element) this.current = this.element.currentTime;
  };

  readonly onseeked = (): void => {
    if (this.element) this.current = this.element.currentTime;
  };

  readonly onended = (): void => {
    this.playing = false;
    this.current = 0;
  };

  /** The player is gone (onDestroy). */
  destroy(): void {
    cancelAnimationFrame(this.frame);
    if (playingNow && playingNow === this.played) playingNow = null;
  }
}
