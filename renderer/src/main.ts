/** Renderer entry: one contract client (Electron preload or WebSocket), provided to every store. */
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createAppRouter } from './router'
import { clientKey } from './stores/client'
import { createClient } from './ipc/client'
import './styles.css'

const app = createApp(App)
app.provide(clientKey, createClient())
app.use(createPinia())
app.use(createAppRouter())
app.mount('#app')
