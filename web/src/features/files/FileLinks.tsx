import { useQuery } from '@tanstack/react-query';
import { api } from '../../api.ts';
import { fileUrl, formatSize, type UploadedFile } from './upload.ts';
import './files.css';

/** Download links for attached files, named from their metadata (ids alone mean nothing to people). */
export function FileLinks({ ids, label }: { ids: readonly string[]; label: string }) {
  if (ids.length === 0) return null;
  return (
    <ul className="file-links" aria-label={label}>
      {ids.map((id) => (
        <FileLink key={id} id={id} />
      ))}
    </ul>
  );
}

function FileLink({ id }: { id: string }) {
  const meta = useQuery({ queryKey: ['file', id], queryFn: () => api.get<UploadedFile>(`/v1/files/${encodeURIComponent(id)}`), staleTime: Infinity, retry: false });
  return (
    <li>
      <a href={fileUrl(id)} download={meta.data?.filename}>
        {meta.data?.filename ?? (meta.isError ? 'Attached file (not available)' : 'Attached file')}
      </a>
      {meta.data && <span className="muted small"> {formatSize(meta.data.size)}</span>}
    </li>
  );
}
