// A C# transport behind the native td_transport_fn, written the way IL2CPP needs it: one
// static [MonoPInvokeCallback] method behind a delegate in a static field, the transport
// reached through user_data as a GCHandle. No exception crosses back into native code: a
// transport that throws, returns null or an impossible status is reported to the core as a
// transport failure, which retries or fails the call with a DropsException.
//
// Lifetime: the native client (and every iterator, which keeps its client alive) may call the
// transport until it is freed, and a native client can outlive its DropsClient. So the binding
// is referenced by each SafeHandle that keeps the native client alive (NativeHandle.Keeps), and
// the GCHandle is weak: it does not keep the binding alive itself, and is freed by the
// binding's finalizer once no handle references it, by which time nothing can call it.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace TwitchDrops.Native
{
    internal sealed unsafe class TransportBinding
    {
        /// <summary>The thunk handed to td_client_config_set_transport; static, so never collected.</summary>
        internal static readonly NativeMethods.td_client_config_set_transport_transport_delegate Thunk = OnSend;

        private readonly Func<DropsHttpRequest, DropsHttpResponse> send;
        private GCHandle self;

        internal TransportBinding(Func<DropsHttpRequest, DropsHttpResponse> send)
        {
            this.send = send;
            self = GCHandle.Alloc(this, GCHandleType.Weak);
        }

        ~TransportBinding()
        {
            if (self.IsAllocated)
            {
                self.Free();
            }
        }

        /// <summary>The user_data for td_client_config_set_transport.</summary>
        internal void* UserData
        {
            get { return (void*)GCHandle.ToIntPtr(self); }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_client_config_set_transport_transport_delegate))]
        private static void OnSend(void* userData, td_http_request* request, td_http_response* response)
        {
            try
            {
                var binding = (TransportBinding)GCHandle.FromIntPtr((IntPtr)userData).Target;
                if (binding == null)
                {
                    Fail(response, TransportErrorKind.Refused, "the transport was collected while its client was in use");
                    return;
                }
                DropsHttpResponse answer;
                try
                {
                    answer = binding.send(Copy(request));
                }
                catch (DropsTransportException failure)
                {
                    Fail(response, failure.Kind, failure.Message);
                    return;
                }
                catch (Exception exception)
                {
                    Fail(response, TransportErrorKind.Interrupted,
                        "the transport threw " + exception.GetType().FullName + ": " + exception.Message);
                    return;
                }
                Answer(response, answer);
            }
            catch (Exception exception)
            {
                try
                {
                    Fail(response, TransportErrorKind.Interrupted, "the transport's answer could not be read: " + exception.GetType().FullName);
                }
                catch
                {
                    // Nothing may escape into native code.
                }
            }
        }

        internal static DropsHttpRequest Copy(td_http_request* request)
        {
            var count = checked((int)(ulong)request->header_count);
            var headers = new List<KeyValuePair<string, string>>(count);
            for (var i = 0; i < count; i++)
            {
                var header = request->headers[i];
                headers.Add(new KeyValuePair<string, string>(Utf8.Of(header.name), Utf8.Of(header.value)));
            }
            byte[] body = null;
            var length = checked((int)(ulong)request->body_len);
            if (request->body != null && length > 0)
            {
                body = new byte[length];
                Marshal.Copy((IntPtr)request->body, body, 0, length);
            }
            return new DropsHttpRequest(Utf8.Of(request->method), Utf8.Of(request->url), headers, body);
        }

        private static void Answer(td_http_response* response, DropsHttpResponse answer)
        {
            if (answer == null)
            {
                Fail(response, TransportErrorKind.Interrupted, "the transport returned no response (null)");
                return;
            }
            if (answer.Status < 100 || answer.Status > 999
                || NativeMethods.td_http_response_set_status(response, (ushort)answer.Status) != td_result.TD_OK)
            {
                Fail(response, TransportErrorKind.Interrupted, "the transport returned status " + answer.Status + ", not 100-999");
                return;
            }
            foreach (var header in answer.Headers)
            {
                var name = Utf8.Z(header.Key ?? "", "header name");
                var value = Utf8.Z(header.Value ?? "", "header value");
                fixed (byte* n = name)
                fixed (byte* v = value)
                {
                    var result = NativeMethods.td_http_response_add_header(response,
                        new td_str { ptr = n, len = (UIntPtr)(name.Length - 1) },
                        new td_str { ptr = v, len = (UIntPtr)(value.Length - 1) });
                    if (result != td_result.TD_OK)
                    {
                        Fail(response, TransportErrorKind.Interrupted, "the transport returned a header the library refused: " + header.Key);
                        return;
                    }
                }
            }
            var body = answer.Body;
            if (body != null && body.Length > 0)
            {
                fixed (byte* p = body)
                {
                    if (NativeMethods.td_http_response_append_body(response, p, (UIntPtr)body.Length) != td_result.TD_OK)
                    {
                        Fail(response, TransportErrorKind.Interrupted, "the library refused the transport's body of " + body.Length + " bytes");
                    }
                }
            }
        }

        private static void Fail(td_http_response* response, TransportErrorKind kind, string message)
        {
            var text = Utf8.Message(message, "(a message that is not valid text)");
            fixed (byte* p = text)
            {
                NativeMethods.td_http_response_fail(response, (uint)kind, p);
            }
        }
    }
}
