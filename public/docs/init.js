// Mounts the API reference on #app with the configuration the Worker wrote into its
// data-configuration attribute. A same-origin file, not an inline script: the /docs CSP allows
// scripts from 'self' only.
const mount = document.getElementById('app');
window.Scalar.createApiReference(mount, JSON.parse(mount.dataset.configuration));
