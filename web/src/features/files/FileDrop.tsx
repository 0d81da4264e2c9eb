import { useEffect, useId, useRef, useState, type DragEvent } from 'react';
import { errorText } from '../../api.ts';
import { ACCEPT, ALLOWED_WORDS, fileProblem, formatSize, uploadFile, type UploadedFile } from './upload.ts';
import './files.css';

type Item = { key: string; name: string; size: number; progress: number; error: string | null; uploaded: UploadedFile | null };

/**
 * Files to attach: dropped on the zone or chosen with the picker, checked for type and size
 * before anything is sent, uploaded at once with progress. `onChange` gets the uploaded files and
 * whether uploads are still under way (a form waits for them).
 */
export function FileDrop({ label, onChange, disabled }: { label: string; onChange: (files: UploadedFile[], uploading: boolean) => void; disabled?: boolean }) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const hintId = useId();
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    changed.current(
      items.flatMap((i) => (i.uploaded ? [i.uploaded] : [])),
      items.some((i) => !i.uploaded && !i.error),
    );
  }, [items]);

  const update = (key: string, patch: Partial<Item>) => setItems((list) => list.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const add = (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      const key = `${file.name}-${file.size}-${Math.random().toString(36).slice(2)}`;
      const problem = fileProblem(file);
      setItems((list) => [...list, { key, name: file.name, size: file.size, progress: 0, error: problem, uploaded: null }]);
      if (problem) continue;
      uploadFile(file, (p) => update(key, { progress: p })).then(
        (uploaded) => update(key, { uploaded, progress: 1 }),
        (e: unknown) => update(key, { error: errorText(e) }),
      );
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (!disabled && e.dataTransfer.files.length) add(e.dataTransfer.files);
  };

  return (
    <div className="file-drop">
      <div
        className={over ? 'drop-zone over' : 'drop-zone'}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="drop-zone"
      >
        <label className="file-pick">
          <span>{label}</span>
          <input
            ref={input}
            type="file"
            multiple
            accept={ACCEPT}
            disabled={disabled}
            aria-describedby={hintId}
            onChange={(e) => {
              if (e.target.files) add(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <span id={hintId} className="muted small">
          Drop files here or choose them: {ALLOWED_WORDS}.
        </span>
      </div>
      {items.length > 0 && (
        <ul className="file-items" aria-label={`${label}: chosen files`}>
          {items.map((i) => (
            <li key={i.key} className={i.error ? 'bad' : undefined}>
              <span className="file-name">{i.name}</span> <span className="muted small">{formatSize(i.size)}</span>
              {i.error ? (
                <span role="alert" className="file-error">{i.error}</span>
              ) : i.uploaded ? (
                <span className="muted small">uploaded</span>
              ) : (
                <progress max={1} value={i.progress} aria-label={`Uploading ${i.name}`} />
              )}
              <button type="button" className="link" aria-label={`Remove ${i.name}`} onClick={() => setItems((list) => list.filter((x) => x.key !== i.key))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
