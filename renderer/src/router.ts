/**
 * Hash history: the UI is served from file: in Electron and by a plain static server headless, and neither
 * needs to know the routes.
 */
import {
  createRouter,
  createWebHashHistory,
  type RouteRecordRaw,
  type Router,
  type RouterHistory,
} from 'vue-router'
import WizardView from './views/WizardView.vue'
import NodesView from './views/NodesView.vue'
import SettingsView from './views/SettingsView.vue'
import DashboardView from './views/DashboardView.vue'

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/wizard' },
  { path: '/wizard/:step?', name: 'wizard', component: WizardView, meta: { title: 'Wizard' } },
  { path: '/nodes', name: 'nodes', component: NodesView, meta: { title: 'Nodes' } },
  { path: '/dashboard', name: 'dashboard', component: DashboardView, meta: { title: 'Dashboard' } },
  { path: '/settings', name: 'settings', component: SettingsView, meta: { title: 'Settings' } },
  { path: '/:pathMatch(.*)*', redirect: '/wizard' },
]

export function createAppRouter(history: RouterHistory = createWebHashHistory()): Router {
  return createRouter({ history, routes })
}
