// A C# logger behind the native td_log_fn, the way IL2CPP needs it (as TransportBinding): one
// static [MonoPInvokeCallback] method behind a delegate in a static field, the logger reached
// through user_data as a weak GCHandle kept alive by the handles of the native client. No
// exception crosses back into native code: a logger that throws loses its line.
using System;
using System.Runtime.InteropServices;

namespace TwitchDrops.Native
{
    internal sealed unsafe class LogBinding
    {
        /// <summary>The thunk handed to td_client_config_set_logger; static, so never collected.</summary>
        internal static readonly NativeMethods.td_client_config_set_logger_log_delegate Thunk = OnLog;

        private readonly Action<DropsLogLevel, string, string> log;
        private GCHandle self;

        internal LogBinding(Action<DropsLogLevel, string, string> log)
        {
            this.log = log;
            self = GCHandle.Alloc(this, GCHandleType.Weak);
        }

        ~LogBinding()
        {
            if (self.IsAllocated)
            {
                self.Free();
            }
        }

        /// <summary>The user_data for td_client_config_set_logger.</summary>
        internal void* UserData
        {
            get { return (void*)GCHandle.ToIntPtr(self); }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.td_client_config_set_logger_log_delegate))]
        private static void OnLog(void* userData, td_log_level level, td_str target, td_str message)
        {
            try
            {
                var binding = (LogBinding)GCHandle.FromIntPtr((IntPtr)userData).Target;
                if (binding != null)
                {
                    binding.log((DropsLogLevel)(uint)level, Utf8.Of(target), Utf8.Of(message));
                }
            }
            catch (Exception)
            {
                // A logger that throws loses its line, never the call.
            }
        }
    }
}
