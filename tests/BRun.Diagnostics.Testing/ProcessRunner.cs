using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BRun.Diagnostics.Testing;

/// <summary>Runs helper programs for the test servers and fails with their output when they fail.</summary>
internal static class ProcessRunner
{
    /// <summary>True when the tests run as root, where Postgres tools must run as the postgres OS user.</summary>
    public static bool IsRoot => Environment.IsPrivilegedProcess;

    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, bool asPostgresUser, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgresUser && IsRoot)
        {
            info.FileName = "runuser";
            foreach (var a in new[] { "-u", "postgres", "--", fileName })
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var text = new StringBuilder().Append(await output).Append(await error).ToString();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}:\n{text}");
        }

        return text;
    }

    /// <summary>A loopback port that was free a moment ago (bind to port 0, read it, release it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Waits until something accepts connections on the port; readiness polling, not a test timing.</summary>
    public static async Task WaitForPortAsync(int port, TimeSpan limit, Func<string> describeFailure, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < limit)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"Nothing listens on 127.0.0.1:{port} after {limit.TotalSeconds:0} s. {describeFailure()}", ex);
            }
        }
    }
}
