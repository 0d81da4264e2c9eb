/** A minimal Server-Sent Events client over fetch, for tests: frames parsed as they arrive. */
export type SseEvent = { id?: string; event: string; data: any };

export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  headers: Headers | null = null;
  body: string | null = null;
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: c.abort.signal });
    c.status = res.status;
    c.headers = res.headers;
    if (res.status !== 200) {
      c.body = await res.text();
      return c;
    }
    c.done = c.read(res.body!).catch(() => undefined);
    return c;
  }

  private async read(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const e: Partial<SseEvent> & { dataLines: string[] } = { dataLines: [] };
        let comment = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comment = true;
          else if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) e.dataLines.push(line.slice(6));
        }
        if (comment && !e.event) this.comments++;
        else if (e.event || e.dataLines.length) this.events.push({ id: e.id, event: e.event ?? 'message', data: JSON.parse(e.dataLines.join('\n') || 'null') });
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  /** Waits until `pred` holds over the events received, or fails after `ms`. */
  async waitFor(pred: (events: SseEvent[]) => boolean, ms = 5000, what = 'event'): Promise<SseEvent[]> {
    const deadline = Date.now() + ms;
    while (!pred(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.events;
  }

  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async close() {
    this.abort.abort();
    await this.done;
  }
}
