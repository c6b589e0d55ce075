// The registration the IIS plan tests start from: Kallithea at /kallithea of the Default Web
// Site, the DLL in C:\kallithea, a 64-bit pool named Kallithea.
import type { RegistrationOptions } from '../../../lib/iis/registration-plan.js';

export const exampleOptions: RegistrationOptions = {
  site: 'Default Web Site',
  virtualDir: '/kallithea',
  dllPath: 'C:\\kallithea\\kallithea_isapi.dll',
  physicalPath: 'C:\\kallithea',
  logFolder: 'C:\\kallithea\\logs',
  bitness: 64,
  pool: 'Kallithea',
  handlerName: 'KallitheaISAPI',
};
