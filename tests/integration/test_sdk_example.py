"""The SDK as a plugin author sees it: install it into a temporary prefix,
build sdk/examples/echo out of tree with find_package(Posthorn) and with
its Makefile through pkg-config, and serve with the result."""
import glob
import os
import shutil
import subprocess
import tempfile

import harness

EXAMPLE = os.path.join(harness.SOURCE_DIR, 'sdk', 'examples', 'echo')


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise AssertionError('%s failed:\n%s%s' % (' '.join(cmd), p.stdout,
                                                   p.stderr))
    return p


class SdkExample(harness.unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='posthorn-sdk-')
        os.chmod(cls.tmp, 0o755)
        cls.prefix = os.path.join(cls.tmp, 'prefix')
        # The .pc file records the configure-time prefix, so configure a
        # tree for the temp prefix (headers and generated files only: the
        # SDK needs no compiling) and install it.
        sdk_build = os.path.join(cls.tmp, 'sdk-build')
        run(['cmake', '-S', harness.SOURCE_DIR, '-B', sdk_build,
             '-DPH_TESTS=OFF', '-DCMAKE_INSTALL_PREFIX=' + cls.prefix])
        run(['cmake', '--install', os.path.join(sdk_build, 'sdk'),
             '--prefix', cls.prefix])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve_with(self, plugin_dir, greeting):
        server = harness.Server(
            {'echo': dict(protocol='echo', tls='none')},
            extra={'echo': {'greeting': greeting}}, plugin_dir=plugin_dir,
            storage=False, auth=False)
        try:
            server.start()
            c = server.connect('echo')
            self.assertEqual(c.line(), '+ ' + greeting)
            self.assertEqual(c.cmd('out of tree'), 'echo: out of tree')
            self.assertEqual(c.cmd('QUIT'), '+ bye')
            c.close()
        finally:
            server.cleanup()

    def test_installed_files(self):
        self.assertTrue(os.path.exists(os.path.join(
            self.prefix, 'include', 'posthorn', 'posthorn.h')))
        self.assertTrue(glob.glob(os.path.join(
            self.prefix, 'lib*', '**', 'posthorn-sdk.pc'), recursive=True))
        self.assertTrue(glob.glob(os.path.join(
            self.prefix, 'lib*', '**', 'PosthornConfig.cmake'),
            recursive=True))

    def test_cmake_find_package(self):
        build = os.path.join(self.tmp, 'cmake-build')
        run(['cmake', '-S', EXAMPLE, '-B', build,
             '-DCMAKE_PREFIX_PATH=' + self.prefix])
        run(['cmake', '--build', build])
        plugins = os.path.join(self.tmp, 'cmake-plugins')
        os.makedirs(plugins)
        shutil.copy(os.path.join(build, 'echo.so'), plugins)
        self.serve_with(plugins, 'built with find_package')

    def test_makefile_pkg_config(self):
        src = os.path.join(self.tmp, 'make-src')
        shutil.copytree(EXAMPLE, src)
        pc = glob.glob(os.path.join(self.prefix, 'lib*', '**',
                                    'posthorn-sdk.pc'), recursive=True)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc[0]))
        run(['make', '-C', src], env=env)
        os.chmod(os.path.join(src, 'echo.so'), 0o755)
        self.serve_with(src, 'built with make')


if __name__ == '__main__':
    harness.main()
