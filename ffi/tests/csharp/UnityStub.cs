// A stand-in for the few UnityEngine members the samples use, so Mono can compile and run
// them as they are: MonoBehaviour, Debug, Application.persistentDataPath, and UnityWebRequest
// (over HttpWebRequest on the thread pool; `completed` runs there, not on a main thread).
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Threading.Tasks;

namespace UnityEngine
{
    public class MonoBehaviour
    {
    }

    public static class Debug
    {
        public static void Log(object message) { System.Console.WriteLine(message); }

        public static void LogError(object message) { System.Console.Error.WriteLine("error: " + message); }
    }

    public static class Application
    {
        public static string persistentDataPath { get; set; }
    }

    public class AsyncOperation
    {
        private Action<AsyncOperation> handlers;
        private bool done;

        public bool isDone { get { lock (this) return done; } }

        public event Action<AsyncOperation> completed
        {
            add
            {
                lock (this)
                {
                    if (!done)
                    {
                        handlers += value;
                        return;
                    }
                }
                value(this);
            }
            remove { lock (this) handlers -= value; }
        }

        internal void Complete()
        {
            Action<AsyncOperation> run;
            lock (this)
            {
                done = true;
                run = handlers;
                handlers = null;
            }
            if (run != null) run(this);
        }
    }
}

namespace UnityEngine.Networking
{
    public class UnityWebRequestAsyncOperation : UnityEngine.AsyncOperation
    {
    }

    public class DownloadHandlerBuffer
    {
        public byte[] data { get; internal set; }
    }

    public class UploadHandlerRaw
    {
        public UploadHandlerRaw(byte[] data) { this.data = data; }

        public byte[] data { get; private set; }
    }

    public class UnityWebRequest : IDisposable
    {
        public enum Result { InProgress, Success, ConnectionError, ProtocolError, DataProcessingError }

        private readonly List<KeyValuePair<string, string>> headers = new List<KeyValuePair<string, string>>();
        private Dictionary<string, string> responseHeaders = new Dictionary<string, string>();
        private HttpWebRequest web;

        public UnityWebRequest(string url, string method)
        {
            this.url = url;
            this.method = method;
            redirectLimit = 32;
        }

        public string url { get; private set; }
        public string method { get; private set; }
        public int redirectLimit { get; set; }
        /// <summary>Seconds before the request is aborted; 0: never (Unity's default).</summary>
        public int timeout { get; set; }
        public DownloadHandlerBuffer downloadHandler { get; set; }
        public UploadHandlerRaw uploadHandler { get; set; }
        public long responseCode { get; private set; }
        public Result result { get; private set; }
        public string error { get; private set; }

        public void SetRequestHeader(string name, string value) { headers.Add(new KeyValuePair<string, string>(name, value)); }

        public Dictionary<string, string> GetResponseHeaders() { return responseHeaders; }

        public void Abort()
        {
            var request = web;
            if (request != null) request.Abort();
        }

        public UnityWebRequestAsyncOperation SendWebRequest()
        {
            var operation = new UnityWebRequestAsyncOperation();
            web = (HttpWebRequest)WebRequest.Create(url);
            web.Method = method;
            web.AllowAutoRedirect = redirectLimit > 0;
            web.Proxy = null;
            if (timeout > 0)
            {
                web.Timeout = timeout * 1000;
                web.ReadWriteTimeout = timeout * 1000;
            }
            foreach (var header in headers)
            {
                if (string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) web.ContentType = header.Value;
                else if (string.Equals(header.Key, "Accept", StringComparison.OrdinalIgnoreCase)) web.Accept = header.Value;
                else web.Headers.Add(header.Key, header.Value);
            }
            Task.Run(() =>
            {
                try
                {
                    if (uploadHandler != null)
                    {
                        using (var stream = web.GetRequestStream()) stream.Write(uploadHandler.data, 0, uploadHandler.data.Length);
                    }
                    HttpWebResponse response;
                    try
                    {
                        response = (HttpWebResponse)web.GetResponse();
                    }
                    catch (WebException e) when (e.Response != null)
                    {
                        response = (HttpWebResponse)e.Response;
                    }
                    using (response)
                    using (var body = new MemoryStream())
                    {
                        using (var stream = response.GetResponseStream()) stream.CopyTo(body);
                        responseCode = (long)response.StatusCode;
                        foreach (var name in response.Headers.AllKeys) responseHeaders[name] = response.Headers[name];
                        if (downloadHandler != null) downloadHandler.data = body.ToArray();
                        result = responseCode >= 400 ? Result.ProtocolError : Result.Success;
                    }
                }
                catch (Exception e)
                {
                    error = e.Message;
                    result = Result.ConnectionError;
                }
                operation.Complete();
            });
            return operation;
        }

        public void Dispose() { }
    }
}
