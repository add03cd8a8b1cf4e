namespace Inference.Server.ModelTools;

/// <summary>Writes a file so that readers see either the old content or the complete new content:
/// the bytes go to a temporary file in the same folder, are flushed to disk, then renamed over the target.</summary>
public static class AtomicFile
{
    /// <summary>Creates <paramref name="path"/> (and its folder) through <paramref name="write"/>, which gets a
    /// buffered stream it must not dispose. The temporary file is removed if <paramref name="write"/> throws.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var writer = new StreamWriter(s, leaveOpen: true);
            writer.Write(text);
        });
}
