// A real redis-server on a free loopback port for one test (scripts/setup.sh installs the Debian package), with no
// persistence, stopped when disposed.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Condense.Testing;

public sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public RedisServer()
    {
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            Port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var exe = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: run scripts/setup.sh (Debian package redis-server)");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--bind", "127.0.0.1", "--port", $"{Port}", "--save", "", "--appendonly", "no", "--daemonize", "no" }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(20);
            }
        }
    }

    public void Dispose()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}
