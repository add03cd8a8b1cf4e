using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Inference.Server.Hosting;

/// <summary>
/// Writes log lines as Triton does: <c>I1202 18:37:36.123456 4242 Category] message</c> (format default) or
/// <c>2026-12-02T18:37:36Z I 4242 Category] message</c> (ISO8601), the level letter E, W, I or V (Debug and Trace),
/// the time in UTC, the process id, and the logger's category where Triton names its source file. Info and verbose lines
/// go to standard output, warnings and errors to standard error, or every line to --log-file (appended) when set. The
/// format is read per line, so the logging extension changes it at once.
/// </summary>
public sealed class TritonLogProvider : ILoggerProvider
{
    private readonly ServerLogSettings _settings;
    private readonly object _lock = new();
    private readonly StreamWriter? _file;
    private readonly int _pid = Environment.ProcessId;

    public TritonLogProvider(ServerLogSettings settings)
    {
        _settings = settings;
        if (settings.File.Length > 0)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(settings.File));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
            _file = new StreamWriter(new FileStream(settings.File, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false))
            {
                AutoFlush = true,
            };
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
        }
    }

    /// <summary>One line (and the exception's text after it) in the current format.</summary>
    internal static string Format(LogFormat format, LogLevel level, DateTime utc, int pid, string category, string message, Exception? exception)
    {
        var letter = level switch
        {
            LogLevel.Critical or LogLevel.Error => 'E',
            LogLevel.Warning => 'W',
            LogLevel.Information => 'I',
            _ => 'V',
        };
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(64 + message.Length);
        if (format == LogFormat.Iso8601)
        {
            sb.Append(c, $"{utc:yyyy-MM-ddTHH:mm:ss}Z {letter} {pid} {category}] ");
        }
        else
        {
            var micros = utc.Ticks % TimeSpan.TicksPerSecond / 10;
            sb.Append(c, $"{letter}{utc:MMdd HH:mm:ss}.{micros:D6} {pid} {category}] ");
        }
        sb.Append(message);
        if (exception is not null)
        {
            sb.Append('\n').Append(exception);
        }
        return sb.ToString();
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = Format(_settings.Format, level, DateTime.UtcNow, _pid, category, message, exception);
        lock (_lock)
        {
            if (_file is not null)
            {
                _file.WriteLine(line);
            }
            else if (level >= LogLevel.Warning)
            {
                Console.Error.WriteLine(line);
            }
            else
            {
                Console.Out.WriteLine(line);
            }
        }
    }

    private sealed class Logger(TritonLogProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            provider.Write(logLevel, category, formatter(state, exception), exception);
        }
    }
}
